"""factoryos.ingest"""
