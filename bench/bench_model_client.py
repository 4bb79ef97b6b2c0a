"""CPU per model call through each client eco2 could use, against bench/paced_model.py.

Prints the process CPU time (not wall time: the model's pauses cost no CPU) of one call, averaged:

  - a streamed answer of ``--tokens`` tokens arriving ``--token-ms`` apart (one network read per token, as
    with a real model), through langchain-openai's ``ChatOpenAI.stream``, the official SDK's typed stream
    (``ChatCompletionChunk`` objects) and the SDK's raw event stream read as lines (what eco2 does);
  - a structured-output intent call, through ``ChatOpenAI.with_structured_output`` and the SDK with a
    ``json_schema`` response format checked by pydantic (what eco2 does).

Usage: python bench/bench_model_client.py [--calls 40] [--tokens 60] [--token-ms 2]
(langchain-openai is in the dev extras for this comparison only.)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from langchain_openai import ChatOpenAI  # noqa: E402

from eco2.adapters.openai.answer import OpenAIAnswerWriter  # noqa: E402
from eco2.adapters.openai.client import sdk_client  # noqa: E402
from eco2.adapters.openai.intent import IntentOutput, OpenAIIntentClassifier  # noqa: E402
from eco2.config import Settings  # noqa: E402
from eco2.intent.offline import OfflineIntentClassifier  # noqa: E402
from eco2.localrun import stop_process  # noqa: E402
from eco2.ports.llm import AnswerInput  # noqa: E402


def cpu_ms(call: Callable[[], object], calls: int) -> float:
    for _ in range(3):
        call()
    started = time.process_time()
    for _ in range(calls):
        call()
    return (time.process_time() - started) * 1000 / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--tokens", type=int, default=60)
    parser.add_argument("--token-ms", type=float, default=2)
    args = parser.parse_args()
    cmd = [sys.executable, "-m", "bench.paced_model", "--port", "0", "--intent-ms", "0", "--first-token-ms", "0"]
    cmd += ["--token-ms", str(args.token_ms), "--tokens", str(args.tokens)]
    model = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert model.stdout is not None
        url = model.stdout.readline().strip()
        settings = Settings.from_env({"OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": url})
        question = AnswerInput(message="페트병 어떻게 버려?", intents=("waste",), results=())
        chat = ChatOpenAI(model="paced", api_key="sk-bench", base_url=url, streaming=True, max_retries=1)  # type: ignore[arg-type]
        sdk = sdk_client(settings, 30)
        messages = [{"role": "user", "content": "페트병 어떻게 버려?"}]
        writer = OpenAIAnswerWriter(settings)
        structured = ChatOpenAI(model="paced", api_key="sk-bench", base_url=url).with_structured_output(IntentOutput)  # type: ignore[arg-type]
        classifier = OpenAIIntentClassifier(settings, OfflineIntentClassifier.default())

        def typed_stream() -> None:
            for _chunk in sdk.chat.completions.create(model="paced", messages=messages, stream=True):  # type: ignore[arg-type]
                pass

        rows = {
            f"answer, {args.tokens} tokens: ChatOpenAI.stream": lambda: list(chat.stream("페트병 어떻게 버려?")),
            f"answer, {args.tokens} tokens: SDK typed stream": typed_stream,
            f"answer, {args.tokens} tokens: SDK event lines (eco2)": lambda: list(writer.stream(question)),
            "intent: ChatOpenAI.with_structured_output": lambda: structured.invoke("페트병 어떻게 버려?"),
            "intent: SDK json_schema + pydantic (eco2)": lambda: classifier.classify("페트병 어떻게 버려?"),
        }
        print(f"CPU per call, {args.calls} calls each (tokens {args.token_ms:g} ms apart):")
        for label, call in rows.items():
            print(f"  {label:52} {cpu_ms(call, args.calls):6.2f} ms")
    finally:
        stop_process(model, 5)


if __name__ == "__main__":
    main()
