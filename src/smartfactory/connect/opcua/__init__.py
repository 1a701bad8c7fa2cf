"""OPC UA: a live source that subscribes to a server's nodes, and the digital twin as a server.

``OpcUaSource`` (``kind = "opcua"`` in a plant file's ``[[source]]``) subscribes by NodeId or browse
path and rebuilds its connection and subscription after a server or PLC restart, recording the gap
as ``no_data``; ``browse_mapping`` writes the ``[[source]]`` table for a server that follows the
plant's names; ``TwinServer`` serves the twin's events as OPC UA variables. See docs/connect-opcua.md.
"""

from smartfactory.connect.opcua.browse import browse_mapping
from smartfactory.connect.opcua.config import NodeEntry, OpcUaConfig
from smartfactory.connect.opcua.server import TwinServer, TwinSink
from smartfactory.connect.opcua.source import OpcUaSource

__all__ = ["NodeEntry", "OpcUaConfig", "OpcUaSource", "TwinServer", "TwinSink", "browse_mapping"]
