"""The embedded database's child process ends on SIGTERM however many arrive at once (the stack's own
and, when the stack dies too, the parent-death signal): a handler that ran again inside itself could
deadlock on its own lock and leave the child running with no parent to stop it."""

import os
import signal
import subprocess

import pytest

from local.mapping_stack import _free_port
from session_relay_tools.local.database_process import DatabaseProcess
from session_relay_tools.local.dynamodb import EmbeddedDynamoDB

WAIT_S = 20  # far more than a clean stop takes; reached only by a child that hangs


@pytest.mark.parametrize("child", [DatabaseProcess, EmbeddedDynamoDB], ids=["stack's database", "port only"])
def test_a_burst_of_sigterms_ends_the_child(child):
    for _ in range(3):
        database = child("127.0.0.1", _free_port())
        database.start()
        process = database._process
        try:
            for _ in range(200):
                os.kill(process.pid, signal.SIGTERM)
            try:
                code = process.wait(WAIT_S)
            except subprocess.TimeoutExpired:
                code = None
            assert code is not None, "the database child hung after a burst of SIGTERMs"
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(5)
            database.stop()
