"""workbench: assess, clean, deduplicate and master customer data in Jupyter.

The public surface is small and stable; everything else is internal::

    from workbench import Workspace
    ws = Workspace("path/to/workspace")          # creates or opens, migrates
    ds = ws.load("customers.csv", key="customer_id")
    ds.frame, ds.rejects, ds.schema

``import workbench`` never imports ipywidgets or IPython; UI lives in
``workbench.ui`` and is imported lazily.
"""

from workbench.errors import ConfigError, LoadError, WorkbenchError
from workbench.schema import Field, Role, Schema, infer_schema
from workbench.workspace import Dataset, Workspace

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "Dataset",
    "Field",
    "LoadError",
    "Role",
    "Schema",
    "Workspace",
    "WorkbenchError",
    "__version__",
    "infer_schema",
]
