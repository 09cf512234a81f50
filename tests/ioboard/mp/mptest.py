"""A minimal test runner for firmware tests under MicroPython (no unittest there): each test is a
function; a failure prints its message and the script exits with status 1."""
import sys

_failures = []


def check(condition, message="check failed"):
    if not condition:
        raise AssertionError(message)


def equal(got, want, what=""):
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (what, got, want))


def run(tests):
    for test in tests:
        try:
            test()
            print("ok   " + test.__name__)
        except Exception as exc:
            _failures.append(test.__name__)
            print("FAIL " + test.__name__ + ": " + repr(exc))
            if hasattr(sys, "print_exception"):
                sys.print_exception(exc)
    print("%d passed, %d failed" % (len(tests) - len(_failures), len(_failures)))
    if _failures:
        sys.exit(1)


def read_vectors(doc_path):
    """The ``vectors`` block of docs/ioboard-protocol.md as [(name, type, seq, payload, frame)]."""
    vectors = []
    inside = False
    with open(doc_path) as doc:
        for line in doc:
            line = line.strip()
            if line.startswith("```vectors"):
                inside = True
                continue
            if inside and line.startswith("```"):
                break
            if inside and line:
                name, ftype, seq, payload, frame = [part.strip() for part in line.split("|")]
                vectors.append((name, int(ftype, 16), int(seq, 16), _hex(payload), _hex(frame)))
    return vectors


def _hex(text):
    if text == "-":
        return b""
    return bytes([int(part, 16) for part in text.split()])
