"""``command``: run a program with an argv list, no shell; templated values stay single arguments."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from string import Template

from enphase_secure.actions.base import Attempts
from enphase_secure.actions.templates import compile_template, render
from enphase_secure.control.fields import Fields
from enphase_secure.errors import ActionError, ConfigError


@dataclass(frozen=True, slots=True)
class CommandAction:
    program: str
    args: tuple[Template, ...]
    attempts: Attempts
    kind: str = "command"

    @classmethod
    def from_fields(cls, f: Fields) -> CommandAction:
        argv = f.str_list("argv")
        if not argv:
            raise ConfigError(f"{f.key('argv')}: required (a list: the program, then its arguments)")
        program = shutil.which(argv[0])
        if program is None:
            raise ConfigError(f"{f.key('argv')}[0]: program {argv[0]!r} not found or not executable")
        action = cls(
            program=program,
            args=tuple(compile_template(a, f"{f.key('argv')}[{i}]") for i, a in enumerate(argv[1:], 1)),
            attempts=Attempts.from_fields(f),
        )
        f.done()
        return action

    @property
    def target(self) -> str:
        return self.program

    @property
    def secrets(self) -> tuple[str, ...]:
        return ()

    async def run_once(self, values: Mapping[str, str]) -> None:
        argv = [render(a, values) for a in self.args]
        try:
            process = await asyncio.create_subprocess_exec(
                self.program,
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
        except OSError as err:
            raise ActionError(f"{self.program}: cannot start: {err.strerror}") from err
        try:
            status = await process.wait()
        finally:
            if process.returncode is None:  # cancelled by the timeout: do not leave it running
                process.kill()
                await process.wait()
        if status != 0:
            raise ActionError(f"{self.program}: exit status {status}")
