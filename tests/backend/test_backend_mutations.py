"""Which requests the embedded backend journals: a table of real wire shapes, read versus write."""

from __future__ import annotations

import pytest

from localaws.mutations import is_mutating, request_action

FORM = "application/x-www-form-urlencoded; charset=utf-8"


def _json(target: str) -> tuple[dict[str, str], bytes]:
    return {"REQUEST_METHOD": "POST", "PATH_INFO": "/", "HTTP_X_AMZ_TARGET": target}, b"{}"


def _query(action: str) -> tuple[dict[str, str], bytes]:
    return {"REQUEST_METHOD": "POST", "PATH_INFO": "/", "CONTENT_TYPE": FORM}, f"Action={action}&Version=1".encode()


def _rest(method: str, path: str, query: str = "") -> tuple[dict[str, str], bytes]:
    return {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query}, b""


@pytest.mark.parametrize(
    ("request_", "mutating"),
    [
        (_json("DynamoDB_20120810.PutItem"), True),
        (_json("DynamoDB_20120810.UpdateItem"), True),
        (_json("DynamoDB_20120810.DeleteItem"), True),
        (_json("DynamoDB_20120810.TransactWriteItems"), True),
        (_json("DynamoDB_20120810.BatchWriteItem"), True),
        (_json("DynamoDB_20120810.CreateTable"), True),
        (_json("DynamoDB_20120810.UpdateTimeToLive"), True),
        (_json("DynamoDB_20120810.ExecuteStatement"), True),  # PartiQL may write: conservative
        (_json("DynamoDB_20120810.GetItem"), False),
        (_json("DynamoDB_20120810.Query"), False),
        (_json("DynamoDB_20120810.Scan"), False),
        (_json("DynamoDB_20120810.BatchGetItem"), False),
        (_json("DynamoDB_20120810.TransactGetItems"), False),
        (_json("DynamoDB_20120810.DescribeTable"), False),
        (_json("DynamoDBStreams_20120810.GetShardIterator"), True),  # moto stores the iterator
        (_json("AWSCognitoIdentityProviderService.SignUp"), True),
        (_json("AWSCognitoIdentityProviderService.ConfirmSignUp"), True),
        (_json("AWSCognitoIdentityProviderService.InitiateAuth"), True),  # stores refresh tokens / SRP sessions
        (_json("AWSCognitoIdentityProviderService.RespondToAuthChallenge"), True),
        (_json("AWSCognitoIdentityProviderService.GlobalSignOut"), True),
        (_json("AWSCognitoIdentityProviderService.AdminGetUser"), False),
        (_json("AWSCognitoIdentityProviderService.GetUser"), False),
        (_json("AWSCognitoIdentityProviderService.ListUsers"), False),
        (_json("AWSCognitoIdentityProviderService.DescribeUserPoolClient"), False),
        (_json("AWSCognitoIdentityService.GetId"), True),  # creates an identity
        (_json("SomeFutureService.MadeUpAction"), True),  # unknown: journal it
        (_query("CreateRole"), True),
        (_query("PutRolePolicy"), True),
        (_query("AssumeRole"), True),
        (_query("GetRole"), False),
        (_query("ListRoles"), False),
        (_query("GetCallerIdentity"), False),
        (_rest("GET", "/", "Action=CreateRole&Version=2010-05-08"), True),  # query protocol over GET
        (_rest("PUT", "/expense-tracker-data"), True),
        (_rest("PUT", "/expense-tracker-data/expenses/u/1.json"), True),
        (_rest("DELETE", "/expense-tracker-data/expenses/u/1.json"), True),
        (_rest("POST", "/expense-tracker-data", "delete"), True),
        (_rest("GET", "/expense-tracker-data/manifest.json"), False),
        (_rest("HEAD", "/expense-tracker-data"), False),
        (_rest("GET", "/expense-tracker-data", "list-type=2"), False),
        (_rest("OPTIONS", "/expense-tracker-data"), False),
        (_rest("POST", "/2015-03-31/functions"), True),
        (_rest("GET", "/2015-03-31/functions/"), False),
        (_rest("PATCH", "/restapis/abc/stages/prod"), True),
        (_rest("POST", "/2020-05-31/distribution"), True),
        (_rest("GET", "/us-east-1_abc/.well-known/jwks.json"), False),
        (_rest("POST", "/moto-api/reset"), True),
    ],
)
def test_classification(request_: tuple[dict[str, str], bytes], mutating: bool) -> None:
    environ, body = request_
    assert is_mutating(environ, body) is mutating


def test_action_comes_from_the_target_then_the_query_then_the_form() -> None:
    assert request_action({"HTTP_X_AMZ_TARGET": "DynamoDB_20120810.Query"}, b"") == "Query"
    assert request_action({"QUERY_STRING": "Action=GetRole"}, b"") == "GetRole"
    assert request_action({"CONTENT_TYPE": FORM}, b"Action=CreateRole") == "CreateRole"
    assert request_action({"CONTENT_TYPE": "application/json"}, b"Action=CreateRole") is None
    assert request_action({"REQUEST_METHOD": "PUT"}, b"raw bytes") is None


@pytest.mark.parametrize(
    ("request_", "response", "nothing"),
    [
        (_json("AmazonSQS.ReceiveMessage"), b"{}", True),
        (_json("AmazonSQS.ReceiveMessage"), b'{"Messages": []}', True),
        (_json("AmazonSQS.ReceiveMessage"), b'{"Messages": [{"MessageId": "m1", "ReceiptHandle": "r"}]}', False),
        (_query("ReceiveMessage"), b"<ReceiveMessageResponse><ReceiveMessageResult/></ReceiveMessageResponse>", True),
        (_query("ReceiveMessage"), b"<ReceiveMessageResult><Message><MessageId>m1</MessageId>", False),
        (_json("AmazonSQS.DeleteMessage"), b"{}", False),  # only receives are judged by their answer
        (_rest("PUT", "/bucket/key"), b"", False),
    ],
)
def test_an_empty_receive_is_not_journaled(
    request_: tuple[dict[str, str], bytes], response: bytes, nothing: bool
) -> None:
    from localaws.mutations import changed_nothing

    environ, body = request_
    assert is_mutating(environ, body)
    assert changed_nothing(environ, body, response) is nothing
