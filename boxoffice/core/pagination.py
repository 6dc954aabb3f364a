"""The one pagination style every list endpoint uses."""

from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """``?page=`` and ``?page_size=``; a page size above 100 is capped at 100, not refused.

    A page number that is not a positive integer, or lies past the last page, is a 404 with the
    standard JSON error body (DRF's behaviour, kept on purpose: the page does not exist).
    """

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_paginated_response_schema(self, schema: dict) -> dict:
        # DRF's own schema says `nullable`, which OpenAPI 3.1 (our schema) no longer has, and
        # leaves next/previous optional although every page carries all four keys.
        link = {"type": ["string", "null"], "format": "uri"}
        return {
            "type": "object",
            "required": ["count", "next", "previous", "results"],
            "properties": {
                "count": {"type": "integer", "example": 42},
                "next": {**link, "example": "https://boxoffice.example/api/v1/showtimes/?page=3"},
                "previous": {
                    **link,
                    "example": "https://boxoffice.example/api/v1/showtimes/?page=1",
                },
                "results": schema,
            },
        }
