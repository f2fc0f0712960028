"""Local Cognito over moto: checked SRP sign-in, confirmation codes in a local mailbox, revocation."""

from devserver.cognito.blueprints import cognito_blueprint, mailbox_blueprint
from devserver.cognito.dispatch import LocalCognito, check_state_present
from devserver.cognito.errors import CognitoError, StateCorrupted
from devserver.cognito.mailbox import Mailbox
from devserver.cognito.wire import CognitoResponse

__all__ = [
    "CognitoError",
    "CognitoResponse",
    "LocalCognito",
    "Mailbox",
    "StateCorrupted",
    "check_state_present",
    "cognito_blueprint",
    "mailbox_blueprint",
]
