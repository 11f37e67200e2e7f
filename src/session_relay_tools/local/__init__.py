"""The local stack: the deployable handlers behind local stand-ins for API Gateway and DynamoDB."""

STAGE = "local"
"""The stage name both local APIs serve under (REST events' ``stage``, the Management API's path)."""
