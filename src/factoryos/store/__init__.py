"""factoryos.store"""
