"""The local stack: the deployable handlers behind local stand-ins for API Gateway and DynamoDB."""
