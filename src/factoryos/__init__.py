"""factoryos: the software core of a smart factory.

Plant model -> events -> store -> KPIs, with a digital twin and a scheduler on the same model.
"""

__version__ = "0.1.0"
