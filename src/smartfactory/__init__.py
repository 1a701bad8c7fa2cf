"""smartfactory: connect, measure, improve and assess a smart factory (智能工厂)."""

__version__ = "0.1.0"
