from django.contrib import admin

from .models import Genre, Movie, Screen, Seat, Theater


@admin.register(Genre)
class GenreAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Movie)
class MovieAdmin(admin.ModelAdmin):
    list_display = ["title", "duration_minutes", "age_rating", "release_date"]
    list_filter = ["genres", "age_rating"]
    search_fields = ["title", "description"]
    filter_horizontal = ["genres"]


class ScreenInline(admin.TabularInline):
    model = Screen
    extra = 0


@admin.register(Theater)
class TheaterAdmin(admin.ModelAdmin):
    list_display = ["name", "address", "timezone"]
    search_fields = ["name", "address"]
    list_filter = ["timezone"]
    inlines = [ScreenInline]


@admin.register(Screen)
class ScreenAdmin(admin.ModelAdmin):
    list_display = ["name", "theater", "cleaning_minutes"]
    list_filter = ["theater"]
    search_fields = ["name", "theater__name"]
    list_select_related = ["theater"]


@admin.register(Seat)
class SeatAdmin(admin.ModelAdmin):
    list_display = ["label", "screen", "row", "number", "tier"]
    list_filter = ["tier", "screen__theater", "screen"]
    search_fields = ["screen__name", "row"]
    list_select_related = ["screen__theater"]
