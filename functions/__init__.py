"""One package per Lambda function; each holds a thin handler module.

Loading a handler creates objects that live as long as the process (modules, classes, functions, models), and the
cyclic garbage collector runs full passes over them while they load, finding nothing to free: about 35 ms of each
cold start. In Lambda, collection is off while a handler's modules load; `ocp.observability.instruments`, which every
handler calls right after its imports, moves what was loaded out of later collections (`gc.freeze`) and turns
collection back on. Elsewhere (tests, the local runtime) nothing changes.
"""

import gc
import os

if "AWS_LAMBDA_RUNTIME_API" in os.environ:
    gc.disable()
