"""Catalog endpoints: anyone reads, admins write."""

from __future__ import annotations

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_serializer,
    extend_schema_view,
)
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from boxoffice.accounts.permissions import IsAdmin, IsAdminOrReadOnly
from boxoffice.core.errors import Invalid
from boxoffice.core.filters import MAX_ID
from boxoffice.core.http_cache import CacheHeadersMixin
from boxoffice.core.openapi import conflict
from boxoffice.core.views import ProtectedDestroyMixin

from . import selectors, services
from .images import validate_poster
from .models import Genre, Movie, Screen, Seat, SeatKind, Theater, Tier, validate_currency_code
from .rows import ROW_NAME


class GenreSerializer(serializers.ModelSerializer):
    class Meta:
        model = Genre
        fields = ["id", "name", "slug"]


class MovieSerializer(serializers.ModelSerializer):
    genres = serializers.PrimaryKeyRelatedField(
        many=True,
        queryset=Genre.objects.all(),
        required=False,
        help_text="Genre ids on write; {id, name, slug} objects on read.",
    )
    poster = serializers.ImageField(
        read_only=True,
        use_url=True,
        help_text="The poster's URL (null when none); upload it with PUT /movies/{id}/poster/.",
    )

    class Meta:
        model = Movie
        fields = [
            "id",
            "title",
            "description",
            "duration_minutes",
            "genres",
            "poster",
            "age_rating",
            "release_date",
        ]

    def to_representation(self, instance: Movie) -> dict:
        data = super().to_representation(instance)
        data["genres"] = GenreSerializer(instance.genres.all(), many=True).data
        return data


class MoviePosterSerializer(serializers.ModelSerializer):
    poster = serializers.ImageField(
        # A declared field does not inherit the model field's validators: name it again.
        validators=[validate_poster],
        help_text="A JPEG, PNG or WebP image.",
    )

    class Meta:
        model = Movie
        fields = ["poster"]


@extend_schema_serializer(component_name="Movie")
class MovieReadSerializer(MovieSerializer):
    """Schema-only: how a movie reads (the component ``Movie``; writes are ``MovieRequest``)."""

    # Re-declared with other field types for the schema; the stubs see MovieSerializer's
    # attribute types (DRF's metaclass moves declared fields off the class at runtime).
    genres = GenreSerializer(many=True, read_only=True)  # type: ignore[assignment]
    poster = serializers.URLField(allow_null=True, read_only=True)  # type: ignore[assignment]


class TheaterSerializer(serializers.ModelSerializer):
    currency = serializers.CharField(
        max_length=3,
        required=False,
        help_text="ISO 4217, lower case (upper case accepted): the default currency of new "
        "shows in this theater (default usd).",
    )

    class Meta:
        model = Theater
        fields = ["id", "name", "address", "timezone", "currency"]
        extra_kwargs = {"timezone": {"help_text": "IANA time zone name, e.g. Europe/Berlin."}}

    def validate_currency(self, value: str) -> str:
        code = value.strip().lower()
        try:
            validate_currency_code(code)
        except DjangoValidationError as exc:
            raise ValidationError(exc.messages) from exc
        return code


class ScreenSerializer(serializers.ModelSerializer):
    capacity = serializers.IntegerField(read_only=True, help_text="Number of seats.")

    class Meta:
        model = Screen
        fields = [
            "id",
            "theater",
            "name",
            "cleaning_minutes",
            "capacity",
            "single_seat_rule",
            "sweet_spot_column_percent",
            "sweet_spot_row_percent",
        ]
        extra_kwargs = {
            "cleaning_minutes": {"help_text": "Minutes kept free after each show (default 15)."}
        }
        # No unique-together validator: the database constraint decides, and the view turns its
        # refusal into a 400 on ``name`` (ScreenViewSet._save_named), so a duplicate name gets
        # the same answer whether it is found early or lost in a race.
        validators: list = []

    def to_representation(self, instance: Screen) -> dict:
        data = super().to_representation(instance)
        if data.get("capacity") is None:
            data["capacity"] = instance.seats.count()
        return data


class SeatSerializer(serializers.ModelSerializer):
    # A field named like a Field attribute (the stubs see Field.label); DRF's metaclass moves
    # declared fields off the class, so nothing is shadowed at runtime.
    label = serializers.CharField(read_only=True)  # type: ignore[assignment]

    class Meta:
        model = Seat
        fields = [
            "id",
            "row",
            "number",
            "label",
            "tier",
            "kind",
            "companion_of",
            "blocked",
            "x",
            "y",
        ]


def _row_names() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.RegexField(
            ROW_NAME, error_messages={"invalid": "Row names are 1 to 3 capital letters: A, B, AA."}
        ),
        required=False,
    )


class TiersSerializer(serializers.Serializer):
    standard = _row_names()
    premium = _row_names()
    vip = _row_names()


def _seat_labels(help_text: str = "") -> serializers.ListField:
    return serializers.ListField(
        child=serializers.RegexField(
            r"^[A-Z]{1,3}[1-9][0-9]{0,2}$",
            error_messages={"invalid": "Seat labels are a row and a number: A1, AA12."},
        ),
        required=False,
        max_length=services.MAX_ROWS * services.MAX_SEATS_PER_ROW,
        help_text=help_text or None,
    )


class KindsSerializer(serializers.Serializer):
    standard = _seat_labels()
    wheelchair = _seat_labels()
    companion = _seat_labels()


class SeatGridSerializer(serializers.Serializer):
    rows = serializers.IntegerField(min_value=1, max_value=services.MAX_ROWS)
    seats_per_row = serializers.IntegerField(min_value=1, max_value=services.MAX_SEATS_PER_ROW)
    tiers = TiersSerializer(required=False, help_text='e.g. {"vip": ["A"], "premium": ["B","C"]}')
    aisles_after = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=services.MAX_SEATS_PER_ROW),
        required=False,
        max_length=services.MAX_SEATS_PER_ROW,
        help_text="Seat numbers followed by an aisle in every row, e.g. [4, 12].",
    )
    kinds = KindsSerializer(
        required=False,
        help_text='Seat kinds by label, e.g. {"wheelchair": ["A1", "A2"], "companion": ["A3"]}; '
        "each companion seat belongs to the wheelchair space beside it.",
    )
    blocked = _seat_labels("Labels of seats not for sale.")

    def to_internal_value(self, data):
        tiers = data.get("tiers") if hasattr(data, "get") else None
        if isinstance(tiers, dict):
            unknown = sorted(set(tiers) - set(Tier.values))
            if unknown:
                raise ValidationError({"tiers": [f"Unknown tier(s) {unknown}; use {Tier.values}."]})
        return super().to_internal_value(data)


class SeatUpdateSerializer(serializers.Serializer):
    seats = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        min_length=1,
        max_length=services.MAX_ROWS * services.MAX_SEATS_PER_ROW,
        help_text="Seat ids of this screen.",
    )
    blocked = serializers.BooleanField(required=False, help_text="true: not for sale.")
    kind = serializers.ChoiceField(choices=SeatKind.choices, required=False)


class MovieFilter(django_filters.FilterSet):
    genre = django_filters.CharFilter(field_name="genres__slug", help_text="Genre slug.")
    search = django_filters.CharFilter(
        method="filter_search", max_length=200, help_text="Words in the title or description."
    )
    date = django_filters.DateFilter(
        method="filter_date", help_text="Movies with a show on this local date (YYYY-MM-DD)."
    )

    class Meta:
        model = Movie
        fields = ["genre", "search", "date"]

    def filter_search(self, queryset, name, value):
        from django.db.models import Q

        return queryset.filter(Q(title__icontains=value) | Q(description__icontains=value))

    def filter_date(self, queryset, name, value):
        return selectors.movies_showing_on(queryset, value)


class CatalogViewSet(CacheHeadersMixin, ProtectedDestroyMixin, viewsets.ModelViewSet):
    openapi_tags = ["catalog"]
    permission_classes = [IsAdminOrReadOnly]
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]


def _crud_docs(
    noun: str,
    read: type[serializers.Serializer],
    *,
    write_409: bool = False,
    protected: bool = False,
):
    """Summaries and answers of a catalog viewset; ``read`` is how an object reads (movies:
    genre objects, while writes send genre ids). ``write_409``: a change of timing can push a
    show into another (showtime_overlap), and a delete is refused while bookings refer to the
    object (protected). ``protected`` alone: only the delete can be refused."""
    deleted = {409: conflict("protected")} if write_409 or protected else {}
    changed = {409: conflict("showtime_overlap")} if write_409 else {}
    return extend_schema_view(
        list=extend_schema(summary=f"List {noun}s", responses={200: read(many=True)}),
        retrieve=extend_schema(summary=f"One {noun}", responses={200: read}),
        create=extend_schema(summary=f"Create a {noun} (admin)", responses={201: read}),
        update=extend_schema(summary=f"Replace a {noun} (admin)", responses={200: read, **changed}),
        partial_update=extend_schema(
            summary=f"Update a {noun} (admin)", responses={200: read, **changed}
        ),
        destroy=extend_schema(summary=f"Delete a {noun} (admin)", responses={204: None, **deleted}),
    )


@_crud_docs("genre", GenreSerializer)
class GenreViewSet(CatalogViewSet):
    serializer_class = GenreSerializer
    queryset = selectors.genre_list()


@_crud_docs("movie", MovieReadSerializer, write_409=True)
class MovieViewSet(CatalogViewSet):
    serializer_class = MovieSerializer
    queryset = selectors.movie_list()
    filterset_class = MovieFilter
    protected_message = "This movie has shows with bookings; cancel the shows instead."

    def perform_update(self, serializer):
        services.save_timing_change(serializer.save)

    @extend_schema(
        methods=["PUT"],
        summary="Upload a movie's poster (admin): multipart/form-data, field `poster`",
        description=(
            "The only request body that is not JSON: a JPEG, PNG or WebP image in the `poster` "
            "field (POSTER_MAX_BYTES, POSTER_MAX_PIXELS). Replaces any poster; answers the movie."
        ),
        request={"multipart/form-data": MoviePosterSerializer},
        responses={200: MovieReadSerializer},
    )
    @extend_schema(
        methods=["DELETE"],
        summary="Remove a movie's poster (admin)",
        request=None,
        responses={200: MovieReadSerializer},
    )
    @action(
        detail=True,
        methods=["put", "delete"],
        url_path="poster",
        parser_classes=[MultiPartParser],
        permission_classes=[IsAdmin],
        filterset_class=None,
    )
    def poster(self, request: Request, pk: str | None = None) -> Response:
        movie = self.get_object()
        if request.method == "DELETE":
            movie.poster.delete(save=True)
        else:
            data = MoviePosterSerializer(movie, data=request.data)
            data.is_valid(raise_exception=True)
            movie = data.save()
        return Response(MovieSerializer(movie, context={"request": request}).data)


@_crud_docs("theater", TheaterSerializer, protected=True)
class TheaterViewSet(CatalogViewSet):
    serializer_class = TheaterSerializer
    queryset = selectors.theater_list()
    filterset_fields: list[str] = []

    def perform_update(self, serializer):
        # A new time zone moves its shows' local times (and morning prices): see the service.
        services.save_theater(serializer.save, theater_id=serializer.instance.pk)


class ScreenFilter(django_filters.FilterSet):
    class Meta:
        model = Screen
        fields = ["theater"]


@_crud_docs("screen", ScreenSerializer, write_409=True)
class ScreenViewSet(CatalogViewSet):
    serializer_class = ScreenSerializer
    queryset = selectors.screen_list()
    filterset_class = ScreenFilter
    protected_message = "This screen has shows with bookings; it cannot be deleted."

    def perform_create(self, serializer):
        self._save_named(serializer.save)

    def perform_update(self, serializer):
        self._save_named(lambda: services.save_timing_change(serializer.save))

    @staticmethod
    def _save_named(save):
        try:
            with transaction.atomic():
                save()
        except IntegrityError as exc:
            raise Invalid("This theater already has a screen of that name.", attr="name") from exc

    @extend_schema(
        summary="A screen's seats (one plain array, rows in natural order)",
        responses={200: SeatSerializer(many=True)},
        filters=False,
    )
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def seats(self, request: Request, pk: str | None = None) -> Response:
        screen = self.get_object()
        return Response(SeatSerializer(selectors.seats_of(screen), many=True).data)

    @extend_schema(
        summary="Block or unblock seats, or change their kind (admin); redraws the seat maps",
        request=SeatUpdateSerializer,
        responses={200: SeatSerializer(many=True)},
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH)],
    )
    @seats.mapping.patch
    def update_seats(self, request: Request, pk: str | None = None) -> Response:
        screen = self.get_object()
        data = SeatUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        seats = services.update_seats(
            screen=screen,
            seat_ids=values["seats"],
            blocked=values.get("blocked"),
            kind=values.get("kind"),
        )
        return Response(SeatSerializer(seats, many=True).data)

    @extend_schema(
        summary="Build the seat grid (admin); replaces the screen's seats",
        request=SeatGridSerializer,
        responses={201: SeatSerializer(many=True), 409: conflict("screen_has_bookings")},
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH)],
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="seats/generate",
        permission_classes=[IsAdmin],
        pagination_class=None,
        filterset_class=None,
    )
    def generate_seats(self, request: Request, pk: str | None = None) -> Response:
        screen = self.get_object()
        data = SeatGridSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        seats = services.generate_seat_grid(screen=screen, **data.validated_data)
        return Response(SeatSerializer(seats, many=True).data, status=status.HTTP_201_CREATED)
