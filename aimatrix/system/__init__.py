"""The system under test: device facts and theoretical peaks, the environment record, NVML telemetry.

Everything that asks the machine (the native module, the driver, NVML, the host) about itself lives here;
the record (``aimatrix.results``) only stores what this package found.
"""
