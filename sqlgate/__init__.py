"""sqlgate: a serverless-style SQL warehouse gateway.

The command line (`sqlgate.cli`) is the edge: it builds the one `Settings` object and hands
it to the gateway, the engine, the result store and the benchmark.
"""

__version__ = "0.1.0"
