"""Cursor pagination for every list: stable under inserts, no COUNT(*), constant queries per page."""

from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = "-id"


class CreatedCursorPagination(CursorPagination):
    ordering = ("-created_at", "-id")


class SeqCursorPagination(CursorPagination):
    ordering = "-seq"
