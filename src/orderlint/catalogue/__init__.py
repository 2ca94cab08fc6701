"""Declarative facts about the steps orderlint interprets."""
