"""Run by the tools environment's Python (``.venv-tools``, where AWS's SAM translator lives):
a SAM template and parameter values as JSON on stdin, the CloudFormation template on stdout.

``deployed_at`` (epoch seconds, optional) is the clock the translator reads: with ``AlwaysDeploy``
SAM names the REST API's deployment after ``int(time.time())``, so two translations within one
second would get one name where two deploys (never in the same second) get two.
"""

import json
import sys
import time

from samtranslator.translator.transform import transform


class _NoManagedPolicies:
    """The translator asks IAM for managed policy ARNs only for policies named by name; none are."""

    def load(self) -> dict[str, str]:
        return {}


def main() -> None:
    request = json.load(sys.stdin)
    if request.get("deployed_at") is not None:
        time.time = lambda: float(request["deployed_at"])  # this process only: it translates, then exits
    json.dump(transform(request["template"], request["parameters"], _NoManagedPolicies()), sys.stdout)


if __name__ == "__main__":
    main()
