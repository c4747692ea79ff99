"""factoryos.kpi"""
