"""The file connector: CSV and Parquet exports from any MES/SCADA, by a mapping file."""

from smartfactory.connect.files.connector import FileConnector, FileImportConfig, ImportSummary
from smartfactory.connect.files.mapping import LoadedMapping, Mapping, load_mapping, parse_mapping
from smartfactory.connect.files.replay import ReplaySummary, replay

__all__ = [
    "FileConnector",
    "FileImportConfig",
    "ImportSummary",
    "LoadedMapping",
    "Mapping",
    "ReplaySummary",
    "load_mapping",
    "parse_mapping",
    "replay",
]
