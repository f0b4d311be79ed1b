"""What the project is about: the personas and their voice, the weather tool and its offline service."""
