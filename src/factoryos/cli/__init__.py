"""factoryos.cli"""
