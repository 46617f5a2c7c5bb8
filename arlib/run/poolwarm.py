"""Imported once by the process pool's fork server (:func:`arlib.run.pool.prestart_pool`): pool
workers are forked from a process that has the notebook stack imported and the HTML exporter
warmed (:func:`arlib.run.runner.warm_process`)."""

from arlib.run.runner import warm_process

warm_process()
