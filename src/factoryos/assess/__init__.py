"""factoryos.assess"""
