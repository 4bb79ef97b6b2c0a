"""The multi-turn conversation evaluation (bench/eval_conversations.py) stays at its target.

It runs every conversation of bench/conversations.yaml through the whole offline pipeline in this process
against the local fakes of the Korean APIs; a regression in follow-up resolution shows up as a miss here.
"""

from __future__ import annotations

from bench import eval_conversations


def test_conversations_are_answered_about_the_right_thing() -> None:
    conversations = eval_conversations.load()
    assert len(conversations) >= 60
    assert all(2 <= len(c.turns) <= 3 for c in conversations)
    with eval_conversations.upstreams() as env:
        outcomes = eval_conversations.evaluate(conversations, env)
    misses = [(o.conversation.id, o.problems) for o in outcomes if not o.right]
    accuracy = 1 - len(misses) / len(outcomes)
    assert accuracy >= eval_conversations.TARGET, misses


def test_the_judge_catches_a_carried_over_topic() -> None:
    conversation = eval_conversations.Conversation(
        "x", "switch", ("페트병 어떻게 버려?", "캔은?"), intent="waste", says=("캔",), not_says=("[페트병",)
    )
    wrong = eval_conversations.judge(conversation, {"intent": "waste", "answer": "[페트병] 플라스틱"})
    assert not wrong.right
    assert "missing '캔'" in wrong.problems
    assert "carried '[페트병'" in wrong.problems
    right = eval_conversations.judge(conversation, {"intent": "waste", "answer": "[음료캔] 캔류"})
    assert right.right
