"""skem's benchmarks: accuracy, speed and scale against the field.

Run ``python -m benchmarks`` from the repository root (``--quick`` for a
one-minute version). Real-data sections read ``../shared/data`` (or the folder
in ``SKEM_SHARED_DATA``) and are skipped when it is absent; the comparison
with Netflix's sureal needs ``pip install sureal``.
"""
