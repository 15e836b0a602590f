"""Past one machine: passages encoded in bulk (in-process or on Ray Data) to Parquet, and indexes split into shards
searched in parallel (threads or Ray actors). Ray is optional: ``pip install 'openbook[ray]'``."""
