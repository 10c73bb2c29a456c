"""Story folding: the articles of one story (copies from several outlets) shown as one result."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from search.fusion import ArticleScore


@dataclass(slots=True)
class StoryGroup:
    """A result: its lead article (the story's best-ranked) and the story's other articles, in rank order."""

    members: list[ArticleScore]

    @property
    def lead(self) -> ArticleScore:
        return self.members[0]

    @property
    def copies(self) -> list[ArticleScore]:
        return self.members[1:]

    @property
    def article_ids(self) -> list[str]:
        return [member.article_id for member in self.members]


def fold_stories(ranked: Sequence[ArticleScore], story_of: Mapping[str, str | None]) -> list[StoryGroup]:
    """Fold each article into the best-ranked article of its story (`story_of`; an article without a
    story is a story of its own), keeping the rank order of the leads and of each story's members."""
    groups: list[StoryGroup] = []
    by_story: dict[str, StoryGroup] = {}
    for article in ranked:
        story = story_of.get(article.article_id) or article.article_id
        if story in by_story:
            by_story[story].members.append(article)
        else:
            by_story[story] = group = StoryGroup([article])
            groups.append(group)
    return groups
