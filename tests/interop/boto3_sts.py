"""boto3 as a real client of `aws_signing_helper serve` (run by tests/integration/serve.rs with the venv's
python and an environment holding nothing but what the test chose).

Usage: boto3_sts.py <sts endpoint url>

boto3 finds credentials through its default chain, which here can only reach `serve`: over IMDSv2
(AWS_EC2_METADATA_SERVICE_ENDPOINT) or the container credentials protocol
(AWS_CONTAINER_CREDENTIALS_FULL_URI with AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]). It then calls
STS GetCallerIdentity on rolesanywhere-local (TLS verified with AWS_CA_BUNDLE). Prints one JSON
object: which provider boto3 used, the access key id it got, and the identity STS returned.
Any failure is a traceback on stderr and a non-zero exit.
"""

import json
import sys

import boto3


def main() -> None:
    (endpoint_url,) = sys.argv[1:]
    session = boto3.session.Session(region_name="us-east-1")
    credentials = session.get_credentials()
    if credentials is None:
        sys.exit("boto3 found no credentials")
    frozen = credentials.get_frozen_credentials()
    identity = session.client("sts", endpoint_url=endpoint_url).get_caller_identity()
    print(
        json.dumps(
            {
                "method": credentials.method,
                "access_key_id": frozen.access_key,
                "account": identity["Account"],
                "arn": identity["Arn"],
                "boto3": boto3.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
