"""TikTok (TikTok Studio's web upload flow): sessions come from the human, never a password."""
