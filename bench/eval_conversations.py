"""Evaluate multi-turn conversations offline: is each last answer about the right thing?

Run from the repository root:  python bench/eval_conversations.py [--quiet]

Every conversation of bench/conversations.yaml runs through the whole pipeline in this process
(``bootstrap_inline``: the offline classifier, the offline composer, the real subagents) in its own
session, against the local fakes of the Korean APIs (Kakao, KMA, MOIS, KECO/odcloud), as a user with the
keys configured would meet it. Its last answer is checked: the intent, text it must contain (the item or
district it must be about) and text it must not (what a change of topic must not carry over). Prints the
accuracy per kind of follow-up and every miss; exits 1 below the target.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from eco2.bootstrap import bootstrap_inline  # noqa: E402
from eco2.config import Settings  # noqa: E402

CONVERSATIONS = Path(__file__).resolve().parent / "conversations.yaml"
TARGET = 0.90


@dataclass(frozen=True, slots=True)
class Conversation:
    """Turns of one session and what its last answer must be about."""

    id: str
    kind: str
    turns: tuple[str, ...]
    intent: str = ""
    says: tuple[str, ...] = ()
    not_says: tuple[str, ...] = ()
    heldout: bool = False
    """Written after the resolver was tuned on the others, and run as written: the honest figure."""


@dataclass
class Outcome:
    """How the last answer of one conversation went."""

    conversation: Conversation
    intent: str
    answer: str
    problems: list[str] = field(default_factory=list)

    @property
    def right(self) -> bool:
        """Whether every expectation held."""
        return not self.problems


def load(path: Path = CONVERSATIONS) -> list[Conversation]:
    """The conversations of ``path``."""
    raw = yaml.safe_load(path.read_text("utf-8"))
    out = []
    for entry in raw["conversations"]:
        expect = entry.get("expect", {})
        out.append(
            Conversation(
                id=str(entry["id"]),
                kind=str(entry["kind"]),
                turns=tuple(t.strip() for t in str(entry["turns"]).split(" | ")),
                intent=str(expect.get("intent", "")),
                says=tuple(str(s) for s in expect.get("says", ())),
                not_says=tuple(str(s) for s in expect.get("not_says", ())),
                heldout=entry.get("set") == "heldout",
            )
        )
    return out


@contextlib.contextmanager
def upstreams() -> Iterator[dict[str, str]]:
    """The local fakes of every keyed upstream, and the environment that points eco2 at them."""
    from tests.support import fake_kakao, fake_kma, fake_mois, fake_odcloud

    previous = fake_mois.VALID_KEY
    fake_mois.VALID_KEY = fake_kma.KEY  # one data.go.kr key for KMA and MOIS, as in production
    try:
        with (
            fake_kakao.FakeKakao() as kakao,
            fake_kma.FakeKma() as kma,
            fake_mois.FakeMois() as mois,
            fake_odcloud.FakeOdcloud() as odcloud,
        ):
            yield {
                "ECO2_LLM_PROVIDER": "offline",
                "KAKAO_REST_API_KEY": fake_kakao.KEY,
                "ECO2_KAKAO_BASE_URL": kakao.base_url,
                "DATA_GO_KR_SERVICE_KEY": fake_kma.KEY,
                "ECO2_KMA_BASE_URL": kma.base_url,
                "ECO2_MOIS_BASE_URL": mois.base_url,
                "KECO_API_KEY": fake_odcloud.VALID_KEY,
                "ECO2_ODCLOUD_BASE_URL": odcloud.base_url,
            }
    finally:
        fake_mois.VALID_KEY = previous


class Pipeline:
    """The whole chat pipeline in this process, remembering sessions like the workers do."""

    def __init__(self, env: dict[str, str]) -> None:
        self._done: dict[str, dict[str, Any]] = {}
        self._container, _ = bootstrap_inline(Settings.from_env(env), listener=self._listen)

    def _listen(self, job_id: str, fields: dict[str, str]) -> None:
        if fields.get("type") == "done":
            self._done[job_id] = json.loads(fields.get("data", "{}"))

    def say(self, session: str, message: str) -> dict[str, Any]:
        """Send one message of ``session``; its ``done`` data (empty when it did not end with ``done``)."""
        job_id = uuid.uuid4().hex
        self._container.service.accept((), {"job_id": job_id, "message": message, "session_id": session})
        return self._done.pop(job_id, {})


def judge(conversation: Conversation, done: dict[str, Any]) -> Outcome:
    """Check the last answer against the conversation's expectations."""
    answer = str(done.get("answer", ""))
    intent = str(done.get("intent", ""))
    outcome = Outcome(conversation, intent, answer)
    if not done:
        outcome.problems.append("no done event")
    if conversation.intent and intent != conversation.intent:
        outcome.problems.append(f"intent {intent} (want {conversation.intent})")
    outcome.problems.extend(f"missing {text!r}" for text in conversation.says if text not in answer)
    outcome.problems.extend(f"carried {text!r}" for text in conversation.not_says if text in answer)
    return outcome


def evaluate(conversations: list[Conversation], env: dict[str, str]) -> list[Outcome]:
    """Run every conversation in a session of its own; judge each last answer."""
    pipeline = Pipeline(env)
    outcomes = []
    for conversation in conversations:
        session = f"eval-{uuid.uuid4().hex[:8]}"
        done: dict[str, Any] = {}
        for message in conversation.turns:
            done = pipeline.say(session, message)
        outcomes.append(judge(conversation, done))
    return outcomes


def report(outcomes: list[Outcome], quiet: bool = False) -> float:
    """Print accuracy per kind and every miss; return the overall accuracy."""
    kinds = Counter(o.conversation.kind for o in outcomes)
    right = Counter(o.conversation.kind for o in outcomes if o.right)
    total = sum(1 for o in outcomes if o.right) / len(outcomes) if outcomes else 0.0
    print(f"conversations: {len(outcomes)} ({sum(len(o.conversation.turns) for o in outcomes)} turns)")
    for kind in sorted(kinds):
        print(f"  {kind:<14} {right[kind]:3d}/{kinds[kind]:<3d} {right[kind] / kinds[kind]:.2f}")
    for label, part in (("tuned on", False), ("held out", True)):
        chosen = [o for o in outcomes if o.conversation.heldout is part]
        if chosen:
            share = sum(1 for o in chosen if o.right) / len(chosen)
            print(f"  {label:<14} {sum(1 for o in chosen if o.right):3d}/{len(chosen):<3d} {share:.2f}")
    print(f"answered about the right thing: {total:.3f} (target {TARGET:.2f})")
    misses = [o for o in outcomes if not o.right]
    if misses and not quiet:
        print("misses:")
        for o in misses:
            first_line = o.answer.strip().split("\n")[0][:90]
            print(f"  {o.conversation.id}: {' / '.join(o.conversation.turns)}")
            print(f"      {'; '.join(o.problems)}  [{o.intent}] {first_line}")
    return total


def main() -> int:
    """Run the evaluation; exit status 1 below the target."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quiet", action="store_true", help="print the figures only, not the misses")
    args = parser.parse_args()
    conversations = load()
    started = time.perf_counter()
    with upstreams() as env:
        outcomes = evaluate(conversations, env)
    accuracy = report(outcomes, quiet=args.quiet)
    print(f"took {time.perf_counter() - started:.1f} s")
    return 0 if accuracy >= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
