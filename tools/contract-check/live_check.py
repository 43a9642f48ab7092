"""`checkout-gateway contract-test` against Prism serving each provider's published description.

For each provider kind in src/registry.rs with `live_safe` contract cases, Prism serves
`../shared/providers/<kind>/openapi.json` (with provider_check.py's named patches) in mock mode
with `--errors` behind provider_check.py's recording proxy, and for each live-safe case a
generated gateway config points one provider of that kind at it (the case's adapter settings, one
attempt) and the real binary runs `contract-test --check accepted,parses` on that case alone:

- accepted: Prism validated the request the adapter built against the description and answered
  2xx (with `--errors` a request outside the description is refused, so this fails);
- parses: the adapter maps Prism's answer (the description's example) to a unified session.

Every request must also pass Prism's validation (`sl-violations`, captured by the proxy). A
read-then-write case gets its recorded state for the read, moved to the real clock, as in
provider_check.py (Prism's example session may be one the adapter refuses to update, e.g. an
expired Mattilda session); the read itself is still validated by Prism.

"Unified answer unchanged" cannot hold here: Prism answers the description's example, not the
case's recorded session, so the differences are printed as information and do not fail the run.
"""

import argparse
import os
import pathlib
import subprocess
import sys
import shutil
import tempfile
import threading

from common import Child, free_port, gateway_env, stop_children_on_sigterm
from provider_check import (REPO, TOKEN_ENDPOINTS, Description, Recorder, gateway_config, registered_kinds,
                            replayed_state, succeeding_cases)


def live_cases(kind: str) -> list[tuple[str, dict]]:
    return [(stem, case) for stem, case in succeeding_cases(kind) if case.get("live_safe")]


def check_kind(kind: str, args, work: pathlib.Path) -> bool:
    """Run contract-test for each live-safe case of `kind` against Prism; whether all passed."""
    cases = live_cases(kind)
    if not cases:
        print(f"FAIL {kind}: no contract case is marked `live_safe`: nothing to send")
        return False
    description = Description(kind, pathlib.Path(args.shared), work)
    port = free_port()
    prism = Child(f"prism ({kind})",
                  [args.prism, "mock", "-h", "127.0.0.1", "-p", str(port), "--errors", str(description.path)],
                  str(work / f"live-prism-{kind}.log"), env={**os.environ, "SCARF_ANALYTICS": "false"})
    # A kind with a token source gets its token from the proxy's stand-in endpoint, as there.
    recorder = Recorder(port, TOKEN_ENDPOINTS.get(kind))
    threading.Thread(target=recorder.serve_forever, daemon=True).start()
    passed = True
    try:
        prism.wait_http(f"http://127.0.0.1:{port}/")
        for stem, case in cases:
            passed &= check_case(kind, stem, case, recorder, args, work)
    finally:
        recorder.shutdown()
        prism.stop()
    return passed


def check_case(kind: str, stem: str, case: dict, recorder: Recorder, args, work: pathlib.Path) -> bool:
    """contract-test on one case, its calls through the recording proxy; whether it passed."""
    cases = work / f"{kind}-{stem}"
    cases.mkdir()
    shutil.copy(REPO / "providers" / kind / "contracts" / f"{stem}.json", cases)
    config = work / f"{kind}-{stem}.toml"
    base_url = f"http://127.0.0.1:{recorder.server_port}"
    config.write_text(gateway_config(free_port(), {kind: (kind, base_url, case["provider_config"])}))
    command = [args.gateway, "contract-test", "--provider", kind, "--config", str(config), "--cases", str(cases),
               "--check", "accepted,parses"]
    recorder.take()
    recorder.read_answer = replayed_state(case)
    try:
        result = subprocess.run(command, cwd=REPO, env=gateway_env(), capture_output=True, text=True, timeout=300)
    finally:
        recorder.read_answer = None
    print(result.stdout, end="")
    violations = [f"Prism {v.get('severity', 'Error')}: {x['method']} {x['path']} -> {x['status']}: "
                  f"{'.'.join(str(part) for part in v.get('location', []))} [{v.get('code')}] {v.get('message')}"
                  for x in recorder.take() for v in x["violations"]]
    for violation in violations:
        print(f"       {violation}")
    if result.returncode != 0 or violations:
        print(result.stderr, end="")
        print(f"FAIL {kind} {stem}: contract-test against Prism exited {result.returncode}, "
              f"{len(violations)} violation(s)")
        return False
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gateway", default=str(REPO / "target" / "debug" / "checkout-gateway"))
    parser.add_argument("--shared", default=str(REPO.parent / "shared" / "providers"))
    parser.add_argument("--prism", default=str(REPO / "tools" / "contract-check" / "node_modules" / ".bin" / "prism"))
    parser.add_argument("--kind", action="append", help="only these kinds (default: every registered kind)")
    args = parser.parse_args()
    stop_children_on_sigterm()
    work = pathlib.Path(tempfile.mkdtemp(prefix="contract-test-prism-"))
    failed = [kind for kind in (args.kind or registered_kinds()) if not check_kind(kind, args, work)]
    if failed:
        print(f"contract-test against Prism FAILED for {', '.join(failed)}; Prism logs in {work}")
        return 1
    print("contract-test against Prism passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
