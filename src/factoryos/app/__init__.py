"""factoryos.app"""
