#!/usr/bin/env python3
"""A stand-in for your own model behind `tutorcache classify --backend exec:`.

tutorcache starts this program once and keeps it running. It writes one
JSON request per line on our stdin, {"text": "..."} (the normalized text),
and reads one JSON answer per line from our stdout:

    {"intent": "debugging", "confidence": 0.8,
     "top": [{"label": "debugging", "score": 0.8}, ...]}

"intent" (a non-empty string) and "confidence" (0 to 1) are required,
"top" is optional; {"error": "..."} refuses a request, which fails that
line only. Each answer must be flushed at once: tutorcache waits for it
(--backend-timeout, 5 s by default) before it sends the next request.

The "model" here counts keywords, which is enough to show the protocol.
Replace classify() with a call to yours. Python 3 standard library only.

    tutorcache classify --backend 'exec:python3 examples/my_model.py' \\
        < examples/questions.txt
"""
import json
import sys

KEYWORDS = {
    "debugging": ["error", "bug", "fix", "crash", "segfault", "exception",
                  "wrong", "fails", "traceback", "none", "broken"],
    "code_generation": ["write", "function", "code", "implement", "script",
                        "generate", "create", "program"],
    "explanation": ["explain", "why", "what is", "how does", "mean",
                    "difference", "understand"],
    "question_answering": ["who", "when", "where", "which", "fact"],
    "summarization": ["summarize", "summary", "tl;dr", "shorten", "key points"],
    "translation": ["translate", "french", "spanish", "german", "in english"],
    "math_help": ["solve", "equation", "derivative", "integral", "calculate",
                  "probability", "math"],
    "study_planning": ["plan", "schedule", "study", "exam", "week", "revise"],
}


def classify(text):
    """Scores each intent by its keywords in text; returns the answer."""
    text = text.lower()
    scores = {label: 1.0 + sum(text.count(w) for w in words)
              for label, words in KEYWORDS.items()}
    total = sum(scores.values())
    top = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    return {
        "intent": top[0][0],
        "confidence": round(top[0][1] / total, 4),
        "top": [{"label": k, "score": round(v / total, 4)} for k, v in top],
    }


def main():
    for line in sys.stdin:
        try:
            request = json.loads(line)
            text = request["text"]
            if not isinstance(text, str):
                raise TypeError("text is not a string")
            answer = classify(text)
        except (ValueError, KeyError, TypeError) as e:
            answer = {"error": "bad request: %s" % e}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
