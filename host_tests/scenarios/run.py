"""Run scenario cases in whichever interpreter runs this file (made for micropython).

Usage: MICROPYPATH=lib:host_tests/scenarios micropython host_tests/scenarios/run.py engine_cases [case ...]
Prints "PASS <case>" or "FAIL <case>: <error>" per case, then "N passed, N failed".
"""
import sys


def main(argv):
    mod = __import__(argv[1])
    names = argv[2:] or mod.CASES
    passed = failed = 0
    for name in names:
        try:
            getattr(mod, name)()
            print("PASS", name)
            passed += 1
        except Exception as e:  # report and go on: one case, one verdict
            print("FAIL %s: %s %s" % (name, type(e).__name__, e))
            sys.print_exception(e) if hasattr(sys, "print_exception") else None
            failed += 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


sys.exit(main(sys.argv))
