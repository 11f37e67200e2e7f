"""Run by the tools environment's Python (``.venv-tools``, where AWS's SAM translator lives):
a SAM template and parameter values as JSON on stdin, the CloudFormation template on stdout."""

import json
import sys

from samtranslator.translator.transform import transform


class _NoManagedPolicies:
    """The translator asks IAM for managed policy ARNs only for policies named by name; none are."""

    def load(self) -> dict[str, str]:
        return {}


def main() -> None:
    request = json.load(sys.stdin)
    json.dump(transform(request["template"], request["parameters"], _NoManagedPolicies()), sys.stdout)


if __name__ == "__main__":
    main()
