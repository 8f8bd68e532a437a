"""skem's benchmarks: accuracy, speed and scale against the field.

Run ``python -m benchmarks`` from the repository root (``--quick`` for a
version of a few seconds, without the scale-out on a LocalCluster unless
``--sections scaleout`` asks for it). Real-data sections read
``../shared/data`` (or the folder in ``SKEM_SHARED_DATA``) and are skipped
when it is absent; the comparison with Netflix's sureal needs ``pip install
sureal``.
"""
