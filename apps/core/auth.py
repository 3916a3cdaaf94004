from allauth.account.adapter import DefaultAccountAdapter


class NoSignupAccountAdapter(DefaultAccountAdapter):
    """Staff accounts are created by an administrator; the public cannot sign up."""

    def is_open_for_signup(self, request) -> bool:
        return False
