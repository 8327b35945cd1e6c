"""A small replica of TikTok Studio's web upload flow, for testing the TikTok adapter offline."""
