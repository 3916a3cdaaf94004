"""Mounted at /track/ by thorbis/urls.py."""

from django.urls import path

from . import views

app_name = "tracking"

urlpatterns = [path("<str:token>/", views.track, name="page")]
