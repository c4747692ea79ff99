"""factoryos.api"""
