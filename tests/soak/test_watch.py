"""The soak's reading of supervisord's states. A killed program passes through EXITED for about
half a second before supervisord spawns it again (``autorestart``); a look that lands there must
not call it dead, or the soak fails on a program that came back. FATAL (the start retries ran
out) is dead, and so is anything not RUNNING at the last look, when every window has closed."""

from __future__ import annotations

from tests.soak.run import Watch


class States:
    """supervisord's ``getAllProcessInfo`` as the soak reads it, one answer per look."""

    def __init__(self, *answers: dict[str, str]) -> None:
        self.answers = list(answers)

    def processes(self) -> dict[str, dict]:
        states = self.answers.pop(0)
        return {name: {"name": name, "pid": 0 if state in ("EXITED", "FATAL") else 100 + i, "statename": state}
                for i, (name, state) in enumerate(states.items())}


def test_a_look_between_a_kill_and_the_respawn_is_not_a_death():
    watch = Watch(States({"beat": "EXITED", "web": "RUNNING"}, {"beat": "RUNNING", "web": "RUNNING"}))
    watch.look()
    watch.look(last=True)
    assert watch.given_up == set()


def test_a_program_supervisord_gave_up_on_is_dead():
    watch = Watch(States({"beat": "BACKOFF", "web": "RUNNING"}, {"beat": "FATAL", "web": "RUNNING"}))
    watch.look()
    watch.look()
    assert watch.given_up == {"beat"}


def test_a_program_still_down_at_the_last_look_is_dead():
    watch = Watch(States({"worker": "RUNNING"}, {"worker": "EXITED"}))
    watch.look()
    watch.look(last=True)
    assert watch.given_up == {"worker"}
