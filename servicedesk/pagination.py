"""The API's page numbers (REST_FRAMEWORK["DEFAULT_PAGINATION_CLASS"])."""

from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination


class PageNumbers(PageNumberPagination):
    """DRF's pages, where `?page=` with no number is refused like any other page that is not
    one (404 "Invalid page."), as the schema's `page: integer` says, instead of page 1."""

    def get_page_number(self, request, paginator):
        if request.query_params.get(self.page_query_param) == "":
            raise NotFound(self.invalid_page_message.format(page_number="", message="no page number"))
        return super().get_page_number(request, paginator)
