"""The Thrift/HTTP front (HiveServer2 TCLIService + Databricks extensions) for BI connectors."""
