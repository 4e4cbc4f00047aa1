from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db import models

from blog.uploads import AvatarField

from .models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        ("Profile", {"fields": ("display_name", "bio", "avatar", "website")}),
    )
    list_display = ("username", "display_name", "email", "is_staff", "is_active")
    formfield_overrides = {models.ImageField: {"form_class": AvatarField}}
