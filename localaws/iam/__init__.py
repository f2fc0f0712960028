"""IAM enforced locally: SigV4 checked against issued credentials, requests mapped to actions, policies evaluated."""
