"""One kernel per unit: a unit's notebooks run one after the other in the same kernel.

Starting a kernel and importing the notebook stack in it costs seconds; a unit's three reports
paid it three times. The kernel is started once per unit; between two notebooks its namespace
is cleared (``%reset -f``), open figures are closed and the warnings' "already shown" registries
are invalidated, so each notebook starts from an empty namespace exactly as in a fresh kernel,
only without re-importing modules. A notebook that kills its kernel gets a fresh one for the
next notebook. What the modules keep is kept too: the frames of the unit's snapshot, which
the next report's read reuses after checking the files and the data again
(:func:`arlib.io.snapshot.read_snapshot`); they are dropped before the customer reports
(:data:`FORGET`).
"""

from __future__ import annotations

#: run between two notebooks; binds no name in the notebook's namespace
RESET = (
    "get_ipython().run_line_magic('reset', '-f')\n"
    "__import__('sys').modules.get('matplotlib.pyplot') and __import__('matplotlib.pyplot').pyplot.close('all')\n"
    # a warning shown by the previous notebook must show again in this one
    "__import__('warnings')._filters_mutated()\n"
    "__import__('gc').collect()"
)


#: also run before the customer reports, which do not read the unit's data: the frames of its
#: snapshot kept by the reports' reads (:func:`arlib.io.snapshot.forget`) are dropped
FORGET = (
    "[m.forget() for m in [__import__('sys').modules.get('arlib.io.snapshot')] if m is not None]"
)


class UnitKernel:
    """A kernel for one unit's notebooks (a context manager); :meth:`manager` gives it to
    papermill (``km=``), :meth:`reset` clears it between notebooks."""

    def __init__(self, cwd: str, extra_arguments: list[str], kernel_name: str = "python3"):
        self.cwd, self.extra_arguments, self.kernel_name = cwd, list(extra_arguments), kernel_name
        self.km = None
        self.used = False
        self.start_seconds = 0.0  # spent starting kernels (for the benchmarks)
        self.forget_data = False  # set: each reset also drops the kept snapshot frames

    def __enter__(self) -> UnitKernel:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def manager(self):
        """The running kernel's manager: started on first use, restarted when it died. The
        first call returns a fresh kernel; later calls clear it first (:meth:`reset`)."""
        from jupyter_client.manager import AsyncKernelManager
        from jupyter_core.utils import run_sync

        if self.km is not None and not (
            run_sync(self.km.is_alive)() and (not self.used or self.reset())
        ):
            self.close()  # died, or could not be cleared: never run a notebook on a dirty namespace
        if self.km is None:
            import time

            t0 = time.perf_counter()
            self.km = AsyncKernelManager(kernel_name=self.kernel_name)
            run_sync(self.km.start_kernel)(extra_arguments=self.extra_arguments, cwd=self.cwd)
            self.start_seconds += time.perf_counter() - t0
        self.used = True
        return self.km

    def reset(self) -> bool:
        """Clear the namespace for the next notebook; False when the kernel did not answer ok."""
        from jupyter_core.utils import run_sync

        kc = self.km.client()
        kc.start_channels()
        try:
            run_sync(kc.wait_for_ready)(timeout=60)
            code = RESET + ("\n" + FORGET if self.forget_data else "")
            reply = run_sync(kc.execute_interactive)(
                code, timeout=120, store_history=False, output_hook=lambda msg: None
            )
        except Exception:  # noqa: BLE001  timed out or lost: the caller starts a fresh kernel
            return False
        finally:
            kc.stop_channels()
        return reply["content"].get("status") == "ok"

    def close(self) -> None:
        from jupyter_core.utils import run_sync

        if self.km is not None:
            try:
                run_sync(self.km.shutdown_kernel)(now=True)
            except Exception:  # already gone  # noqa: BLE001
                pass
            self.km = None
