"""Read-only dashboard pages for Voilà: each reads stored results, never recomputes.

A dashboard notebook is a few cells calling one ``show_*`` function here.
PII is masked by default. IPython is imported lazily, so ``import workbench``
stays free of it.
"""
