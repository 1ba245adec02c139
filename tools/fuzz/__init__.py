"""Coverage-guided fuzz targets for cellmodem's parsers (issue 9).

Three targets, each a module with one_input(data: bytes) that raises only when it
found a bug (an exception type the library must not let out, a broken invariant):

  engine  tools/fuzz/fuzz_engine.py  the AT line parser, raw payload delivery and
          every dialect's response and URC parsing (sim7080, sim7600, quectel, yuge,
          and the Yuge native MQTT client's URC table), on a Modem over a FakeUART
  mqtt    tools/fuzz/fuzz_mqtt.py    cellmodem.mqtt's packet decoder, fed a broker's
          side of a connection
  http    tools/fuzz/fuzz_http.py    cellmodem.requests' response parser (status line,
          headers, fixed, chunked and until-close bodies), fed a server's side

Run them (atheris when it is installed, else a seeded mutation driver in plain Python):

    python -m tools.fuzz --minutes 10                  # every target, time split evenly
    python -m tools.fuzz --minutes 5 --target engine   # one target
    python -m tools.fuzz --replay FILE --target http   # run one saved input

The corpus (tools/fuzz/corpus/<target>/) is seeded from the manuals' transcripts;
crashes are written to build/fuzz/<target>/ and printed with their traceback. A
crash becomes a regression test in host_tests/test_fuzz_regressions.py.
"""
